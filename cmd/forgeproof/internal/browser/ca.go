package browser

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"math/big"
	"net"
	"time"
)

// A CA is a throwaway certificate authority that lives as long as a test
// run. It issues one leaf certificate for a set of host names, and Chromium
// is told to trust that leaf's public key (see [CA.SPKI]), so pages served
// with it are secure contexts: Secure and __Host- cookies behave as in
// production. Its keys never touch the disk.
type CA struct {
	root    *x509.Certificate
	rootDER []byte
	leaf    tls.Certificate
	spki    string
}

// NewCA creates a CA and a leaf certificate valid for names (DNS names such
// as "bank.test" or "*.bank.test", or IP addresses such as "127.0.0.1") for
// one day.
func NewCA(names ...string) (*CA, error) {
	if len(names) == 0 {
		return nil, fmt.Errorf("browser: NewCA needs at least one host name")
	}
	rootKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("browser: generate CA key: %w", err)
	}
	now := time.Now()
	rootTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "forgeproof throwaway test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	rootDER, err := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, &rootKey.PublicKey, rootKey)
	if err != nil {
		return nil, fmt.Errorf("browser: create CA certificate: %w", err)
	}
	root, err := x509.ParseCertificate(rootDER)
	if err != nil {
		return nil, fmt.Errorf("browser: parse CA certificate: %w", err)
	}

	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("browser: generate leaf key: %w", err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: names[0]},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			leafTmpl.IPAddresses = append(leafTmpl.IPAddresses, ip)
		} else {
			leafTmpl.DNSNames = append(leafTmpl.DNSNames, n)
		}
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, root, &leafKey.PublicKey, rootKey)
	if err != nil {
		return nil, fmt.Errorf("browser: create leaf certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(leafDER)
	if err != nil {
		return nil, fmt.Errorf("browser: parse leaf certificate: %w", err)
	}
	sum := sha256.Sum256(leaf.RawSubjectPublicKeyInfo)
	return &CA{
		root:    root,
		rootDER: rootDER,
		leaf: tls.Certificate{
			Certificate: [][]byte{leafDER, rootDER},
			PrivateKey:  leafKey,
			Leaf:        leaf,
		},
		spki: base64.StdEncoding.EncodeToString(sum[:]),
	}, nil
}

// SPKI returns the base64 SHA-256 hash of the leaf's SubjectPublicKeyInfo,
// the value Chromium's --ignore-certificate-errors-spki-list takes.
func (ca *CA) SPKI() string { return ca.spki }

// ServerConfig returns a TLS configuration that serves the leaf
// certificate, with HTTP/2 and HTTP/1.1.
func (ca *CA) ServerConfig() *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{ca.leaf},
		NextProtos:   []string{"h2", "http/1.1"},
		MinVersion:   tls.VersionTLS12,
	}
}

// ClientConfig returns a TLS configuration for Go clients that trusts only
// this CA.
func (ca *CA) ClientConfig() *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(ca.root)
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		// crypto/rand does not fail on supported platforms.
		panic(err)
	}
	return n
}
