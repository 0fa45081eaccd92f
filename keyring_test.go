package forgeproof

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
)

func TestNewKeyRing(t *testing.T) {
	k1, k2 := GenerateKey(), GenerateKey()
	tests := []struct {
		name string
		keys [][]byte
		want string // a part of the error, or "" for none
	}{
		{"one key", [][]byte{k1}, ""},
		{"two keys", [][]byte{k1, k2}, ""},
		{"long key", [][]byte{bytes.Repeat([]byte{7}, 64)}, ""},
		{"no key", nil, "at least one key"},
		{"short key", [][]byte{k1, k2[:31]}, "key 1 is 31 bytes"},
		{"same key twice", [][]byte{k1, k2, k1}, "keys 0 and 2 are the same key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kr, err := NewKeyRing(tt.keys...)
			if tt.want == "" {
				if err != nil || kr.Len() != len(tt.keys) {
					t.Fatalf("NewKeyRing = %v, %v; want %d keys", kr, err, len(tt.keys))
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewKeyRing error = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestGenerateKey(t *testing.T) {
	a, b := GenerateKey(), GenerateKey()
	if len(a) != 32 || bytes.Equal(a, b) || bytes.Equal(a, make([]byte, 32)) {
		t.Errorf("GenerateKey returned %d bytes, equal twice: %v", len(a), bytes.Equal(a, b))
	}
}

func TestKeyRingSeparatesPurposes(t *testing.T) {
	kr, _ := NewKeyRing(GenerateKey())
	k := kr.signer()
	var mac, tag [32]byte
	k.tokenMAC(&mac, nil, "session")
	k.sessionTag(&tag, "session")
	if mac == tag {
		t.Error("token MAC and session tag use the same key")
	}
	other, _ := NewKeyRing(GenerateKey())
	var mac2 [32]byte
	other.signer().tokenMAC(&mac2, nil, "session")
	if mac == mac2 {
		t.Error("two keys give the same MAC")
	}
}

func TestParseKey(t *testing.T) {
	key := GenerateKey()
	key[0], key[1] = 0xfb, 0xff // force '+', '/' or '-', '_' in base64
	tests := []struct {
		name string
		text string
		ok   bool
	}{
		{"standard base64", base64.StdEncoding.EncodeToString(key), true},
		{"raw standard base64", base64.RawStdEncoding.EncodeToString(key), true},
		{"URL base64", base64.URLEncoding.EncodeToString(key), true},
		{"raw URL base64", base64.RawURLEncoding.EncodeToString(key), true},
		{"hexadecimal", hex.EncodeToString(key), true},
		{"upper-case hexadecimal", strings.ToUpper(hex.EncodeToString(key)), true},
		{"with a newline", base64.StdEncoding.EncodeToString(key) + "\n", true},
		{"empty", "", false},
		{"blank", " \t\n", false},
		{"too short", base64.StdEncoding.EncodeToString(key[:16]), false},
		{"not base64", "!!" + base64.StdEncoding.EncodeToString(key), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseKey(tt.text)
			if !tt.ok {
				if err == nil {
					t.Errorf("ParseKey = %x, want an error", got)
				}
				return
			}
			if err != nil || !bytes.Equal(got, key) {
				t.Errorf("ParseKey = %x, %v; want %x", got, err, key)
			}
		})
	}
}
