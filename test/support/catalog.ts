import { join } from 'node:path';
import { Catalog } from '../../activities/catalog/catalog';

export const openTestCatalog = (dir: string, name = 'catalog.db') => Catalog.open(join(dir, name));
