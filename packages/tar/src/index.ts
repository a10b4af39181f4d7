// @berth/tar: one streaming tar reader (strict: PAX, GNU long names, xattrs,
// every member type berth handles; clear errors for anything else) and one
// writer, plus compression detection and (de)compression for layers and
// archives. Shared by the images and snapshots services and the testkit.
export { TarError, TarFormatError, TarTruncatedError, type TarErrorContext } from './errors.js';
export { BLOCK, TYPEFLAG, typeOfFlag, type EntryType } from './format.js';
export { TarReader, readTar, type ReaderOptions, type TarEntry, type TarHeader } from './reader.js';
export {
  TarWriter,
  buildTar,
  encodeEntryHeader,
  endOfArchive,
  padding,
  writableSink,
  type EntryOptions,
  type Sink,
  type WriteEntry,
  type WriterOptions,
} from './writer.js';
export {
  CompressionError,
  compressBuffer,
  compressionOfMediaType,
  compressor,
  decompress,
  decompressBuffer,
  detectCompression,
  openDecompressed,
  type Compression,
  type CompressionFailure,
  type Compressor,
  type CompressorOptions,
  type Decompressed,
  type DecompressOptions,
  type OpenOptions,
} from './compression.js';
