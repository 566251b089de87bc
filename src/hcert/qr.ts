/**
 * QR rendering of an `HC1:` string (issuance side, Node: uses the `qrcode` package). Every
 * character of `HC1:` + base45 is in the QR alphanumeric set, so the text is encoded in that mode
 * (denser than bytes), at error-correction level Q as the hcert spec recommends.
 */
import QRCode from 'qrcode';

const segments = (hc1: string) => [{ data: hc1, mode: 'alphanumeric' as const }];

/** PNG image of the pass QR. */
export async function qrPng(hc1: string, scale = 4): Promise<Buffer> {
  return QRCode.toBuffer(segments(hc1), { errorCorrectionLevel: 'Q', type: 'png', scale, margin: 4 });
}

/** SVG image of the pass QR. */
export async function qrSvg(hc1: string): Promise<string> {
  return QRCode.toString(segments(hc1), { errorCorrectionLevel: 'Q', type: 'svg', margin: 4 });
}
