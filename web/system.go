package web

import (
	"net/http"
	"os"
	"runtime"
	"time"

	"github.com/gpmd/gpm/api"
)

// System answers GET /api/system: the host's figures and the daemon's own. Fields the system does not tell (the
// host's on other systems than Linux) are zero.
type System struct {
	Hostname        string     `json:"hostname"`
	CPUs            int        `json:"cpus"`
	Load            [3]float64 `json:"load"`             // 1, 5 and 15 minutes
	MemoryTotal     uint64     `json:"memory_total"`     // bytes
	MemoryUsed      uint64     `json:"memory_used"`      // bytes: total less available
	MemoryAvailable uint64     `json:"memory_available"` // bytes
	Uptime          float64    `json:"uptime"`           // the host's, seconds

	DaemonPID        int     `json:"daemon_pid"`
	DaemonVersion    string  `json:"daemon_version"`
	DaemonRSS        uint64  `json:"daemon_rss"` // bytes
	DaemonGoroutines int     `json:"daemon_goroutines"`
	DaemonUptime     float64 `json:"daemon_uptime"` // seconds
	Processes        int     `json:"processes"`
}

// daemonStart is when the process began, near enough: package initialisation runs first thing.
var daemonStart = time.Now()

func (s *Server) handleSystem(w http.ResponseWriter, r *http.Request) {
	var v api.VersionInfo
	if err := s.caller.Call(r.Context(), api.MethodVersion, nil, &v); err != nil {
		s.fail(w, err)
		return
	}
	var list []struct{}
	if err := s.caller.Call(r.Context(), api.MethodList, nil, &list); err != nil {
		s.fail(w, err)
		return
	}
	sys := System{CPUs: runtime.NumCPU(), DaemonPID: v.PID, DaemonVersion: v.Version,
		DaemonGoroutines: runtime.NumGoroutine(), DaemonUptime: time.Since(daemonStart).Seconds(), Processes: len(list)}
	sys.Hostname, _ = os.Hostname()
	hostFigures(&sys)
	writeJSON(w, http.StatusOK, sys)
}
