export { buildMatrix } from './matrix.js'
export type { Matrix, MatrixCell } from './matrix.js'
export { matrixText, failuresText } from './text.js'
