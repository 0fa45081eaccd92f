//go:build !race

package monitor_test

// raceEnabled reports that the race detector instruments this build.
const raceEnabled = false
