// Codebases held by a node agent: managed directories (uploads, empty), host paths under an
// allow-list, tar import and export.
export { CodebaseStore, type CodebaseMeta, type CodebaseStoreOptions } from './store.ts';
export { CodebaseError, type CodebaseErrorCode } from './errors.ts';
export { extractTar, safeMemberPath, type ExtractLimits, type ExtractStats } from './extract.ts';
export { isUnder, isUnderAny, normalizePrefixes, overlaps } from './allow.ts';
