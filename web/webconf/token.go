package webconf

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/gpmd/gpm/service/dump"
)

// tokenBytes is the token's length before hex: 256 bits.
const tokenBytes = 32

// LoadToken returns the token of home, making one when there is none (or the file does not hold one); with
// rotate, a new one in any case. The file is written atomically (temporary file, fsync, rename), 0600.
func LoadToken(home string, rotate bool) (string, error) {
	path := filepath.Join(home, TokenName)
	if !rotate {
		b, err := os.ReadFile(path)
		switch {
		case err == nil && validToken(strings.TrimSpace(string(b))):
			return strings.TrimSpace(string(b)), nil
		case err != nil && !errors.Is(err, fs.ErrNotExist):
			return "", fmt.Errorf("web: read token: %w", err)
		}
	}
	raw := make([]byte, tokenBytes)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("web: make token: %w", err)
	}
	token := hex.EncodeToString(raw)
	if err := dump.WriteFile(path, []byte(token+"\n")); err != nil {
		return "", fmt.Errorf("web: write token: %w", err)
	}
	return token, nil
}

func validToken(t string) bool {
	if len(t) != 2*tokenBytes {
		return false
	}
	_, err := hex.DecodeString(t)
	return err == nil
}
