package main

import (
	"errors"
	"strings"

	"github.com/gpmd/gpm/config"
)

// TEMPORARY until config exports them.
func splitArgsTmp(s string) ([]string, error) { return strings.Fields(s), nil }

type importedTmp struct {
	App       config.App
	Stopped   bool
	Instances []int
}

func importTmp([]byte) ([]importedTmp, error) { return nil, errors.New("tmp") }
