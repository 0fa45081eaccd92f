package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"fmt"
	"math/big"
	"net"
	"strings"
	"time"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/config"
)

// SelfSignedHosts are the names a self-signed certificate is valid for.
var SelfSignedHosts = []string{"localhost", "127.0.0.1", "::1"}

// selfSignedLifetime is how long a throwaway certificate is valid.
const selfSignedLifetime = 7 * 24 * time.Hour

// tlsConfig returns the TLS configuration of cfg, or nil for plain HTTP.
// selfSigned, if not nil, is called with the fingerprint of a self-signed
// certificate.
func (s *server) tlsConfig(cfg *config.Config, selfSigned func(fingerprint string)) (*tls.Config, error) {
	switch {
	case cfg.TLS.SelfSigned:
		cert, err := SelfSigned(time.Now())
		if err != nil {
			return nil, err
		}
		s.cert.Store(cert)
		fp := Fingerprint(cert.Leaf)
		s.log.Warn("serving HTTPS with a throwaway self-signed certificate: for development only",
			"hosts", SelfSignedHosts, "sha256_fingerprint", fp)
		if selfSigned != nil {
			selfSigned(fp)
		}
	case cfg.TLS.Cert != "":
		if err := s.loadCert(cfg); err != nil {
			return nil, err
		}
	default:
		return nil, nil
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"h2", "http/1.1"},
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return s.cert.Load(), nil
		},
	}, nil
}

// loadCert reads the certificate files of cfg, for a start or a reload.
func (s *server) loadCert(cfg *config.Config) error {
	cert, err := tls.LoadX509KeyPair(cfg.TLS.Cert, cfg.TLS.Key)
	if err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	s.cert.Store(&cert)
	return nil
}

// SelfSigned returns a new ECDSA P-256 certificate for [SelfSignedHosts],
// valid from now for a week.
func SelfSigned(now time.Time) (*tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{"forgeproof development"}, CommonName: "localhost"},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(selfSignedLifetime),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	for _, h := range SelfSignedHosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// Fingerprint returns the SHA-256 fingerprint of cert as colon-separated
// upper-case hex, as browsers show it.
func Fingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	var b strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(h[i : i+2])
	}
	return b.String()
}
