export * from './fullSync';
export * from './listDriveIntoCatalog';
export * from './deepVerify';
export * from './incrementalSweep';
