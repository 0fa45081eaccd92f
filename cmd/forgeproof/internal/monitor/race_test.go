//go:build race

package monitor_test

// raceEnabled reports that the race detector instruments this build, which
// slows every memory access tenfold or more.
const raceEnabled = true
