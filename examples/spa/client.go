package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
)

// Client calls the API without a browser, as a script or another service
// would: it keeps the cookies, fetches a token from /csrf, sends it in the
// header, and refreshes it once when the API refuses it. It sends no
// Origin (a non-browser client), which the origin layer lets through; the
// token is still required.
type Client struct {
	Base      string // the API's origin, such as http://127.0.0.1:8082
	HTTP      *http.Client
	token     string
	header    string
	Refreshes int // how many times the token was fetched
}

// NewClient returns a client of the API at base.
func NewClient(base string) *Client {
	jar, _ := cookiejar.New(nil)
	return &Client{Base: base, HTTP: &http.Client{Jar: jar}}
}

// refresh fetches a fresh token (and its cookie) from /csrf.
func (c *Client) refresh() error {
	resp, err := c.HTTP.Get(c.Base + "/csrf")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var t struct{ Token, Header string }
	if err := json.NewDecoder(resp.Body).Decode(&t); err != nil || resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /csrf: %s", resp.Status)
	}
	c.token, c.header = t.Token, t.Header
	c.Refreshes++
	return nil
}

// tokenRefused reports whether a refusal is one that a fresh token cures.
func tokenRefused(reason string) bool {
	switch reason {
	case "token-missing", "token-invalid", "token-expired", "token-session-mismatch", "cookie-missing":
		return true
	}
	return false
}

// Post sends in as JSON to path and decodes the answer into out. It
// returns the status, and the reason of a refusal.
func (c *Client) Post(path string, in, out any) (status int, reason string, err error) {
	body, err := json.Marshal(in)
	if err != nil {
		return 0, "", err
	}
	for attempt := 0; ; attempt++ {
		if c.token == "" {
			if err := c.refresh(); err != nil {
				return 0, "", err
			}
		}
		req, _ := http.NewRequest("POST", c.Base+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(c.header, c.token)
		resp, err := c.HTTP.Do(req)
		if err != nil {
			return 0, "", err
		}
		var answer map[string]any
		json.NewDecoder(resp.Body).Decode(&answer)
		resp.Body.Close()
		reason, _ = answer["reason"].(string)
		if resp.StatusCode == http.StatusForbidden && tokenRefused(reason) && attempt == 0 {
			c.token = "" // fetch a fresh one and retry once
			continue
		}
		if tok, ok := answer["token"].(string); ok {
			c.token = tok // rotated at login
		}
		if out != nil {
			b, _ := json.Marshal(answer)
			json.Unmarshal(b, out)
		}
		return resp.StatusCode, reason, nil
	}
}
