module rbackup2/restic-standin

go 1.19
