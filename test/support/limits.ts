/** The avatar bound the test stacks run with: the default (1 MiB). */
export const DEFAULT_MAX_BYTES_FOR_TESTS = 1_048_576;
