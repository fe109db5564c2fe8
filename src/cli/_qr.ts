import encodeQR from "qr";
import { fromHex } from "../crypto/index.ts";

/**
 * `verify NAME --qr`: the safety number's QR payload (docs/safety-numbers.md "QR payload", 68 bytes)
 * as a QR code drawn with half-block characters, two modules per character row, so it fits an
 * 80x24 terminal. Encoded by `qr` (paulmillr/qr: the author of @noble, zero dependencies, a reader
 * too), as binary bytes rather than text: the payload is not UTF-8.
 *
 * The full-block characters are the light modules (a dark terminal's foreground on its background),
 * the layout the library draws; the quiet zone is part of the drawing.
 */
export function safetyNumberQr(qrPayloadHex: string): string {
  const payload = fromHex(qrPayloadHex);
  return `${encodeQR(qrPayloadHex, "ascii", {
    encoding: "byte",
    ecc: "medium",
    textEncoder: () => payload,
  })}\n`;
}
