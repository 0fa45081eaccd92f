// Package httpsyntax holds the HTTP grammar rules that the gateway, its
// configuration, the identity providers and the x-forgeproof decoder
// check names against, so that each is written once.
package httpsyntax

// IsToken reports whether s is a non-empty RFC 9110 token, the syntax of
// methods, header names and cookie names: letters, digits and
// !#$%&'*+-.^_`|~ only.
func IsToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTchar(s[i]) {
			return false
		}
	}
	return true
}

// isTchar reports whether c is an RFC 9110 tchar.
func isTchar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}
