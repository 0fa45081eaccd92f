package server

import (
	"net/http"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/admin"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/config"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/dashboard"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/monitor"
)

// startMonitor starts the anomaly detector with the monitor section of
// cfg, and mounts its dashboard on the admin listener at /dashboard/. The
// detector outlives configurations, like the metrics do: a reload does not
// change it (restartOnly names the monitor keys a reload changed). It returns the function that stops the detector.
func (s *server) startMonitor(cfg *config.Config, adm *admin.Admin) (stop func(), err error) {
	mc := &cfg.Monitor
	mon, err := monitor.New(monitor.Options{
		Bucket:          config.MonitorBucket,
		Window:          int(mc.Window / config.MonitorBucket),
		OriginThreshold: mc.OriginThreshold,
		ReasonThreshold: mc.ReasonThreshold,
		BurstThreshold:  mc.TotalThreshold,
		WebhookURL:      mc.WebhookURL.Value(),
		Logger:          s.log,
		OnAlert: func(a monitor.Alert) {
			if a.Status == monitor.StatusFiring {
				s.metrics.AlertRaised(a.Rule)
			}
		},
		OnDelivery: s.metrics.AlertDelivery,
	})
	if err != nil {
		return nil, err
	}
	s.monitor = mon
	adm.Handle("GET /dashboard", http.RedirectHandler("/dashboard/", http.StatusMovedPermanently))
	adm.Handle("GET /dashboard/", http.StripPrefix("/dashboard", dashboard.Handler(mon)))
	return mon.Close, nil
}
