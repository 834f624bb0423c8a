/** Exit codes of `rbackup2 backup` by run status (CONTRACTS §1): 0 success, 3 partial, else 1. */
export const EXIT: Readonly<Record<string, number>> = { success: 0, partial: 3 };
