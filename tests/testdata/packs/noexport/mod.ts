/** A test pack module that exports no pack. @module */
export const notAPack = 1;
