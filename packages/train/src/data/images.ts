/*
 * Image files and image folders (PNG through pngjs, JPEG through jpeg-js, folders through node:fs):
 * Node's entry only. The browser entry leaves them out, as pngjs needs Node's zlib and streams and a
 * page has no folders to list; the pure parts (writeImagePlanes, the normalisation) are in both.
 */
export { decodeImage, readImageHeader, imageFormatOf, notAnImageDetail, checkInterlacedPng, MAX_IMAGE_PIXELS, MAX_IMAGE_FILE_BYTES } from './image-decode.js';
export type { DecodedImage, ImageFormat, ImageHeader } from './image-decode.js';
export { scanImageFolder, imageFolderSplit, isImageFileName, decodeImageFolder, loadImageFolder, splitHash } from './image-folder.js';
export type { ImageFolderOptions, ImageFolderEntry, ImageFolderScan, ImageFolderSplit, ImageFolderData, HeldFileBytes } from './image-folder.js';
