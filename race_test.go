//go:build race

package forgeproof_test

const raceEnabled = true
