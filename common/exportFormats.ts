/** Export targets by file extension, as Drive's about.exportFormats names them. */
export const EXPORT_MIME_TYPES: Record<string, string> = {
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

/** The config's export section: formats (extensions) per Workspace type. */
export type ExportFormatConfig = Record<'document' | 'spreadsheet' | 'presentation' | 'drawing' | 'script', string[]>;

/** The extensions a Workspace file is exported to, from its MIME type and the config. */
export function exportExtensionsFor(mimeType: string, formats: ExportFormatConfig): string[] {
  const type = mimeType.replace('application/vnd.google-apps.', '') as keyof ExportFormatConfig;
  return formats[type] ?? [];
}
