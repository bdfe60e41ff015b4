import { deflateSync, crc32 } from 'node:zlib';
import { storedZip } from './zip';

const G = 'application/vnd.google-apps.';
export const mime = {
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  odt: 'application/vnd.oasis.opendocument.text',
  ods: 'application/x-vnd.oasis.opendocument.spreadsheet',
  odp: 'application/vnd.oasis.opendocument.presentation',
  pdf: 'application/pdf',
  rtf: 'application/rtf',
  txt: 'text/plain',
  html: 'text/html',
  zip: 'application/zip',
  epub: 'application/epub+zip',
  md: 'text/markdown',
  csv: 'text/csv',
  tsv: 'text/tab-separated-values',
  jpeg: 'image/jpeg',
  png: 'image/png',
  svg: 'image/svg+xml',
  scriptJson: 'application/vnd.google-apps.script+json',
} as const;

/** Export targets per Workspace type, as about.exportFormats lists them. */
export const exportFormats: Record<string, string[]> = {
  [`${G}document`]: [mime.docx, mime.odt, mime.rtf, mime.pdf, mime.txt, mime.html, mime.zip, mime.epub, mime.md],
  [`${G}spreadsheet`]: [mime.xlsx, mime.ods, mime.pdf, mime.zip, mime.csv, mime.tsv],
  [`${G}presentation`]: [mime.pptx, mime.odp, mime.pdf, mime.txt, mime.jpeg, mime.png, mime.svg],
  [`${G}drawing`]: [mime.pdf, mime.jpeg, mime.png, mime.svg],
  [`${G}script`]: [mime.scriptJson],
};

/** Real Drive caps files.export at 10 MB; exportLinks have no cap. */
export const EXPORT_LIMIT_BYTES = 10 * 1024 * 1024;

export interface ExportSource {
  id: string;
  name: string;
  mimeType: string;
  version: number;
  text: string;
  /** Pads the export to about this many bytes, to exercise the 10 MB limit. */
  exportSize?: number;
}

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const rels = (target: string, type: string) =>
  `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="${type}" Target="${target}"/></Relationships>`;
const officeDocRel = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument';
const contentTypes = (overrides: Record<string, string>) =>
  `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>${Object.entries(
    overrides,
  )
    .map(([part, type]) => `<Override PartName="${part}" ContentType="${type}"/>`)
    .join('')}</Types>`;

function pdf(text: string): Buffer {
  const stream = `BT /F1 12 Tf 72 720 Td (${text.replace(/[()\\]/g, '\\$&').replace(/[^\x20-\x7e]/g, '?')}) Tj ET`;
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${Buffer.byteLength(stream)} >>\nstream\n${stream}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let body = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((o, i) => {
    offsets.push(Buffer.byteLength(body));
    body += `${i + 1} 0 obj\n${o}\nendobj\n`;
  });
  const xrefAt = Buffer.byteLength(body);
  body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  body += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xrefAt}\n%%EOF\n`;
  return Buffer.from(body, 'latin1');
}

function png(): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.from([0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0]); // 1x1, 8-bit RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.from([0, 0x33, 0x66, 0x99]))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A JFIF header and end marker: the JPEG signature a type check looks for, not a decodable picture. */
const jpeg = () => Buffer.from('ffd8ffe000104a46494600010100000100010000ffd9', 'hex');

function render(target: string, src: ExportSource, text: string): Buffer {
  switch (target) {
    case mime.docx:
      return storedZip([
        {
          name: '[Content_Types].xml',
          data: contentTypes({ '/word/document.xml': 'application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml' }),
        },
        { name: '_rels/.rels', data: rels('word/document.xml', officeDocRel) },
        {
          name: 'word/document.xml',
          data: `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>${xml(text)}</w:t></w:r></w:p></w:body></w:document>`,
        },
      ]);
    case mime.xlsx:
      return storedZip([
        {
          name: '[Content_Types].xml',
          data: contentTypes({
            '/xl/workbook.xml': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml',
            '/xl/worksheets/sheet1.xml': 'application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml',
          }),
        },
        { name: '_rels/.rels', data: rels('xl/workbook.xml', officeDocRel) },
        {
          name: 'xl/workbook.xml',
          data: '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
        },
        {
          name: 'xl/_rels/workbook.xml.rels',
          data: rels('worksheets/sheet1.xml', 'http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet'),
        },
        {
          name: 'xl/worksheets/sheet1.xml',
          data: `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>${xml(text)}</t></is></c></row></sheetData></worksheet>`,
        },
      ]);
    case mime.pptx:
      return storedZip([
        {
          name: '[Content_Types].xml',
          data: contentTypes({
            '/ppt/presentation.xml': 'application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml',
            '/ppt/slides/slide1.xml': 'application/vnd.openxmlformats-officedocument.presentationml.slide+xml',
          }),
        },
        { name: '_rels/.rels', data: rels('ppt/presentation.xml', officeDocRel) },
        {
          name: 'ppt/presentation.xml',
          data: '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><p:presentation xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><p:sldIdLst><p:sldId id="256" r:id="rId1"/></p:sldIdLst></p:presentation>',
        },
        {
          name: 'ppt/_rels/presentation.xml.rels',
          data: rels('slides/slide1.xml', 'http://schemas.openxmlformats.org/officeDocument/2006/relationships/slide'),
        },
        {
          name: 'ppt/slides/slide1.xml',
          data: `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><p:sld xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main" xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"><p:cSld><p:spTree><p:sp><p:txBody><a:p><a:r><a:t>${xml(text)}</a:t></a:r></a:p></p:txBody></p:sp></p:spTree></p:cSld></p:sld>`,
        },
      ]);
    case mime.odt:
    case mime.ods:
    case mime.odp:
      return storedZip([
        { name: 'mimetype', data: target.replace('application/x-vnd', 'application/vnd') },
        {
          name: 'META-INF/manifest.xml',
          data: '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>',
        },
        {
          name: 'content.xml',
          data: `<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><text:p>${xml(text)}</text:p></office:body></office:document-content>`,
        },
      ]);
    case mime.epub:
      return storedZip([
        { name: 'mimetype', data: mime.epub },
        {
          name: 'META-INF/container.xml',
          data: '<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles><rootfile full-path="content.opf" media-type="application/oebps-package+xml"/></rootfiles></container>',
        },
        { name: 'content.xhtml', data: `<html xmlns="http://www.w3.org/1999/xhtml"><body><p>${xml(text)}</p></body></html>` },
      ]);
    case mime.zip:
      return storedZip([{ name: `${src.name}.html`, data: `<html><body><p>${xml(text)}</p></body></html>` }]);
    case mime.pdf:
      return pdf(text);
    case mime.html:
      return Buffer.from(`<html><body><p>${xml(text)}</p></body></html>`);
    case mime.rtf:
      return Buffer.from(`{\\rtf1\\ansi ${text.replace(/[\\{}]/g, '\\$&')}}`);
    case mime.png:
      return png();
    case mime.jpeg:
      return jpeg();
    case mime.svg:
      return Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg"><text>${xml(text)}</text></svg>`);
    case mime.scriptJson:
      return Buffer.from(JSON.stringify({ files: [{ id: src.id, name: 'Code', type: 'server_js', source: `// ${text}` }] }));
    default: // txt, md, csv, tsv
      return Buffer.from(text);
  }
}

/**
 * Renders a Workspace file as `target`: a valid file of that type, deterministic for the file's version.
 * Returns undefined when Drive cannot convert this type to that target.
 */
export function renderExport(src: ExportSource, target: string): Buffer | undefined {
  if (!exportFormats[src.mimeType]?.includes(target)) return undefined;
  const text = `${src.name} (version ${src.version}) ${src.text}`;
  const plain = render(target, src, text);
  if (!src.exportSize || src.exportSize <= plain.length) return plain;
  // Padding goes inside the document text so the result stays a valid file of its type.
  return render(target, src, `${text} ${'x'.repeat(src.exportSize - plain.length)}`);
}
