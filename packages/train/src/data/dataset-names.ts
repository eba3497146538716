/** The datasets `loadDataset` knows by name. */
export const datasetNames = ['mnist', 'fashion'] as const;
/** One of `datasetNames`. @example const name: DatasetName = 'fashion'; */
export type DatasetName = (typeof datasetNames)[number];

/** Whether `name` is one of `datasetNames`. @example isDatasetName('fashion') // true */
export const isDatasetName = (name: string): name is DatasetName => datasetNames.some((d) => d === name);
