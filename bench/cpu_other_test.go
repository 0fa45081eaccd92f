//go:build !unix

package bench

// cpuTime reports that the CPU time is not available on this system.
func cpuTime() (int64, bool) { return 0, false }
