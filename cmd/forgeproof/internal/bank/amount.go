package bank

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
)

// maxAmount bounds a single transfer, in cents, so that sums cannot overflow.
const maxAmount = 1_000_000_000_00

var errAmount = errors.New("amount must be a positive number of dollars with at most two decimals, such as 12.50")

// ParseAmount parses a dollar amount such as "12", "12.5" or "12.50" into
// cents. It refuses signs, exponents, more than two decimals, zero, and
// amounts above one billion dollars.
func ParseAmount(s string) (int64, error) {
	s = strings.TrimSpace(s)
	whole, frac, dot := strings.Cut(s, ".")
	if whole == "" || len(whole) > 10 || (dot && (frac == "" || len(frac) > 2)) {
		return 0, errAmount
	}
	if !digits(whole) || !digits(frac) {
		return 0, errAmount
	}
	units, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, errAmount
	}
	cents := units * 100
	if frac != "" {
		f, _ := strconv.ParseInt(frac, 10, 64)
		if len(frac) == 1 {
			f *= 10
		}
		cents += f
	}
	if cents <= 0 || cents > maxAmount {
		return 0, errAmount
	}
	return cents, nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// FormatAmount formats cents as dollars with two decimals, such as "12.50".
func FormatAmount(cents int64) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	c := strconv.FormatInt(cents%100, 10)
	if len(c) == 1 {
		c = "0" + c
	}
	return sign + strconv.FormatInt(cents/100, 10) + "." + c
}

// jsonAmount decodes an amount given either as a JSON number (12.5) or as a
// JSON string ("12.50").
type jsonAmount int64

func (a *jsonAmount) UnmarshalJSON(b []byte) error {
	s := string(b)
	if strings.HasPrefix(s, `"`) {
		if err := json.Unmarshal(b, &s); err != nil {
			return errAmount
		}
	}
	cents, err := ParseAmount(s)
	if err != nil {
		return err
	}
	*a = jsonAmount(cents)
	return nil
}
