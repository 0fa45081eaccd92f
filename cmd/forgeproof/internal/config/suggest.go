package config

import (
	"reflect"
	"strings"
)

// suggest returns a " (did you mean "x"?)" hint naming the key of t closest
// to the unknown key, or "" when none is close.
func suggest(key string, t reflect.Type) string {
	best, bestDist := "", 0
	for i := range t.NumField() {
		name := yamlName(t.Field(i))
		if name == "" {
			continue
		}
		d := distance(strings.ToLower(key), name)
		if best == "" || d < bestDist {
			best, bestDist = name, d
		}
	}
	// Close means at most a third of the longer word changed, or the key is
	// the camelCase or kebab-case spelling of a known one.
	if best == "" {
		return ""
	}
	if normalize(key) == normalize(best) || bestDist*3 <= max(len(key), len(best)) {
		return ` (did you mean "` + best + `"?)`
	}
	// A truncated or extended spelling: "cert" for "certificate".
	k := strings.ToLower(key)
	for i := range t.NumField() {
		name := yamlName(t.Field(i))
		if name != "" && min(len(k), len(name)) >= 4 && (strings.HasPrefix(k, name) || strings.HasPrefix(name, k)) {
			return ` (did you mean "` + name + `"?)`
		}
	}
	return ""
}

// normalize drops case, "_" and "-".
func normalize(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r == '-' {
			return -1
		}
		return r
	}, strings.ToLower(s))
}

// distance is the Levenshtein edit distance between a and b (in bytes).
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
