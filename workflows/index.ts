export * from './fullSync';
export * from './listDriveIntoCatalog';
