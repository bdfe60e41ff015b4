export * from './fullSync';
export * from './listDriveIntoCatalog';
export * from './deepVerify';
export * from './incrementalSweep';
export * from './nightlyDump';
export * from './weeklyRollup';
export * from './restore';
