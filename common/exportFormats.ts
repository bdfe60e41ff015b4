/** Export targets by file extension, as Drive's about.exportFormats names them: the formats the config accepts. */
export const EXPORT_MIME_TYPES: Readonly<Record<string, string>> = {
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  odt: 'application/vnd.oasis.opendocument.text',
  rtf: 'application/rtf',
  pdf: 'application/pdf',
  txt: 'text/plain',
  html: 'text/html',
  zip: 'application/zip',
  epub: 'application/epub+zip',
  md: 'text/markdown',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  ods: 'application/x-vnd.oasis.opendocument.spreadsheet',
  csv: 'text/csv',
  tsv: 'text/tab-separated-values',
  pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  odp: 'application/vnd.oasis.opendocument.presentation',
  jpeg: 'image/jpeg',
  png: 'image/png',
  svg: 'image/svg+xml',
  json: 'application/vnd.google-apps.script+json',
};

export const EXPORT_FORMATS = Object.keys(EXPORT_MIME_TYPES) as [string, ...string[]];

/**
 * The extensions a Workspace file is exported to, from its MIME type and the config's `exportFormats`
 * (typed by shape: config.ts builds its schema from the list above, so this module does not import it).
 */
export function exportExtensionsFor(mimeType: string, formats: Readonly<Record<string, string[] | undefined>>): string[] {
  return formats[mimeType.replace('application/vnd.google-apps.', '')] ?? [];
}
