export * from './listDriveIntoCatalog';
