package stage

import "golang.org/x/sys/unix"

// pipeSize is the buffer size asked for stdin and stdout pipes. With the
// default 64 KiB a Go stage ran 1.5-2x slower than cat; at 1 MiB a 4-stage
// chain ran as fast as one stage (DESIGN.md, "Scale").
const pipeSize = 1 << 20

// enlargePipes enlarges fds 0 and 1 where they are pipes; elsewhere, or
// above the system's pipe-max-size, it quietly does nothing.
func enlargePipes() {
	for _, fd := range []int{0, 1} {
		unix.FcntlInt(uintptr(fd), unix.F_SETPIPE_SZ, pipeSize)
	}
}
