;; foldnet's fast kernels: one WebAssembly module, float32, fixed-width SIMD, on one shared memory.
;;
;; The module is assembled from part files, one per kernel family, in the order manifest.txt lists them: their text
;; between "(module" and ")". Functions are numbered in the order they are defined across the parts, and a part may
;; call a function of any other. This part comes first: what every kernel relies on.
;;
;; All pointers are byte offsets into the one imported, shared memory; lengths are in elements. No globals, no data
;; segments, no stack: several threads can run instances of this module on the same shared memory at once, each on
;; its own share of the work (rows of C, images, filters or elements; see threads.ts).

  (import "env" "memory" (memory 1 32768 shared))
