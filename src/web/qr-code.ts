/**
 * The safety number's QR code (docs/safety-numbers.md "QR payload", 68 bytes) drawn as SVG built
 * through the DOM: the module matrix comes from `qr` (paulmillr/qr, the CLI's encoder, zero
 * dependencies, runs unchanged in the browser), encoded as binary bytes exactly as `verify --qr` does,
 * so a phone scanning the CLI's code and the page's reads the same payload. Not `qr`'s own SVG string
 * output: a string would have to be parsed into the page, which Trusted Types forbids.
 */
import encodeQR from "qr";
import { fromHex } from "../crypto/bytes.ts";

const SVG = "http://www.w3.org/2000/svg";
/** The quiet zone ISO/IEC 18004 asks for, in modules. */
const QUIET_ZONE = 4;

export function safetyNumberQrSvg(qrPayloadHex: string, label: string): SVGSVGElement {
  const payload = fromHex(qrPayloadHex);
  const matrix = encodeQR(qrPayloadHex, "raw", {
    encoding: "byte",
    ecc: "medium",
    border: QUIET_ZONE,
    textEncoder: () => payload,
  });
  const size = matrix.length;
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${size} ${size}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", label);
  svg.setAttribute("shape-rendering", "crispEdges");
  svg.classList.add("qr");
  const background = document.createElementNS(SVG, "rect");
  background.setAttribute("width", String(size));
  background.setAttribute("height", String(size));
  background.setAttribute("fill", "#fff");
  svg.append(background);
  // One path of unit squares: a few hundred elements would do too, but one node keeps the DOM small.
  let d = "";
  for (const [y, row] of matrix.entries()) {
    for (const [x, dark] of row.entries()) if (dark) d += `M${x} ${y}h1v1h-1z`;
  }
  const modules = document.createElementNS(SVG, "path");
  modules.setAttribute("d", d);
  modules.setAttribute("fill", "#000");
  svg.append(modules);
  svg.dataset.modules = String(size);
  return svg;
}
