// What `send` accepts, in a module of its own without the client behind it, so the CLI checks a send's
// arguments and input before the client's modules load (docs/performance.md "CLI start").

/** The largest attachment (docs/attachments.md): read into memory whole in v1. */
export const MAX_ATTACHMENT_BYTES = 100 * 1024 * 1024;
/** Attachments (and long texts, which travel as attachments) are read into memory whole in v1. */
export const MAX_FILE_BYTES = MAX_ATTACHMENT_BYTES;
export const MAX_TEXT_BYTES = MAX_ATTACHMENT_BYTES;

/** An attachment carries no caption (protocol.md §9.4): a text given with a file would be lost. */
export const TEXT_WITH_FILE =
  "a message is TEXT or a --file, not both: send the text as a message of its own";
