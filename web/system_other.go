//go:build !linux

package web

// hostFigures leaves the host's figures zero: only Linux's /proc is read (System's doc says so).
func hostFigures(s *System) {}

// processFigures is empty outside Linux: the process figures come from /proc.
func processFigures() []processFigure { return nil }
