package config

import "strings"

// Closest returns the name among names that word is most likely a typo of
// (a mistyped command, flag or key), by the rule that unknown keys are
// matched with: at most a third of the longer word changed, the same word
// in another case or with "-" and "_" dropped, two neighbouring letters
// swapped, or a truncation of at least four letters. It returns "" when no name is close.
func Closest(word string, names []string) string {
	best, bestDist := "", 0
	for _, name := range names {
		d := distance(strings.ToLower(word), strings.ToLower(name))
		if best == "" || d < bestDist {
			best, bestDist = name, d
		}
	}
	if best == "" {
		return ""
	}
	if normalize(word) == normalize(best) || bestDist*3 <= max(len(word), len(best)) {
		return best
	}
	w := strings.ToLower(word)
	for _, name := range names {
		n := strings.ToLower(name)
		if swapped(w, n) {
			return name
		}
		if min(len(w), len(n)) >= 4 && (strings.HasPrefix(w, n) || strings.HasPrefix(n, w)) {
			return name
		}
	}
	return ""
}

// swapped reports whether a and b differ only by two neighbouring bytes
// swapped ("sevre" and "serve").
func swapped(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	i := 0
	for i < len(a) && a[i] == b[i] {
		i++
	}
	return i+1 < len(a) && a[i] == b[i+1] && a[i+1] == b[i] && a[i+2:] == b[i+2:]
}
