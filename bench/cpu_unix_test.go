//go:build unix

package bench

import "syscall"

// cpuTime returns the CPU time that the process has used, user and system,
// in nanoseconds. Unlike the wall-clock time of a benchmark, it does not
// count the time the process waited for a CPU, so it is the steadier
// figure on a shared machine.
func cpuTime() (int64, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return ru.Utime.Nano() + ru.Stime.Nano(), true
}
