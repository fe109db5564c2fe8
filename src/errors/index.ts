export { ERROR_CATALOGUE, type ErrorCode, type ErrorEntry, type ErrorKind } from "./catalogue.ts";
export { NanoError } from "./nano-error.ts";
