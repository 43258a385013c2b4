/** Defaults shared by several commands, apart so that naming them loads no command. */
export const DEFAULT_DB = 'data/tlsmatrix.db'
