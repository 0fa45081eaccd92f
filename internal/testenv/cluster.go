package testenv

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Cluster is a real Redis Cluster: redis-server processes in cluster mode on
// loopback ports, joined by redis-cli.
type Cluster struct {
	// Addrs are the host:port addresses of every node, as given to
	// redis-cli --cluster create.
	Addrs []string

	mu    sync.Mutex
	procs map[string]*exec.Cmd
}

// clusterNodeTimeout is the nodes' cluster-node-timeout: how long a node
// may be unreachable before the others count it as failed and promote one
// of its replicas. It is short so that failover tests stay short, and not
// shorter, so that a node slowed by a loaded machine is not failed over.
const clusterNodeTimeout = 2 * time.Second

// StartCluster starts a Redis Cluster of three primaries, each with the
// given number of replicas, without persistence, on free loopback ports;
// waits until every node reports cluster_state:ok and every replica is in
// sync; and stops every node when the test ends. A replica is promoted
// about two seconds (cluster-node-timeout) after its primary is lost.
//
// It needs redis-server and redis-cli (Debian redis-server, which brings
// redis-tools).
func StartCluster(t testing.TB, replicas int) *Cluster {
	t.Helper()
	server := Require(t, "redis-server", "install it with: apt-get install -y redis-server")
	cli := Require(t, "redis-cli", "install it with: apt-get install -y redis-tools")
	c := &Cluster{procs: map[string]*exec.Cmd{}}
	t.Cleanup(c.stopAll)
	n := 3 * (1 + replicas)
	for range n {
		// The cluster bus port is given rather than left at port+10000,
		// which may be taken or beyond 65535.
		port, bus := FreePort(t), FreePort(t)
		addr := "127.0.0.1:" + strconv.Itoa(port)
		cmd := exec.Command(server, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--protected-mode", "yes",
			"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-port", strconv.Itoa(bus),
			"--cluster-node-timeout", strconv.FormatInt(clusterNodeTimeout.Milliseconds(), 10))
		cmd.Dir = t.TempDir()
		if err := cmd.Start(); err != nil {
			t.Fatalf("testenv: start redis-server in cluster mode: %v", err)
		}
		c.mu.Lock()
		c.procs[addr] = cmd
		c.mu.Unlock()
		c.Addrs = append(c.Addrs, addr)
	}
	for _, addr := range c.Addrs {
		if err := WaitTCP(addr, 10*time.Second); err != nil {
			t.Fatal(err)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	args := append([]string{"--cluster", "create"}, c.Addrs...)
	args = append(args, "--cluster-replicas", strconv.Itoa(replicas), "--cluster-yes")
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("testenv: redis-cli --cluster create: %v\n%s", err, out)
	}
	if err := c.waitReady(n, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	return c
}

// waitReady waits until every node knows all n nodes and reports
// cluster_state:ok, and every replica's link to its primary is up.
func (c *Cluster) waitReady(n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for _, addr := range c.Addrs {
		for {
			err := nodeReady(addr, n)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("testenv: cluster node %s not ready within %v: %v", addr, timeout, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nil
}

// nodeReady reports why the node at addr is not ready yet, or nil.
func nodeReady(addr string, n int) error {
	info, err := command(addr, "CLUSTER INFO")
	if err != nil {
		return err
	}
	if field(info, "cluster_state") != "ok" {
		return fmt.Errorf("cluster_state:%s", field(info, "cluster_state"))
	}
	if known := field(info, "cluster_known_nodes"); known != strconv.Itoa(n) {
		return fmt.Errorf("knows %s nodes of %d", known, n)
	}
	repl, err := command(addr, "INFO replication")
	if err != nil {
		return err
	}
	if field(repl, "role") == "slave" && field(repl, "master_link_status") != "up" {
		return fmt.Errorf("replica link %s", field(repl, "master_link_status"))
	}
	return nil
}

// field returns the value of name in an INFO-style "name:value" text.
func field(info, name string) string {
	for line := range strings.SplitSeq(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			return v
		}
	}
	return ""
}

// Kill kills the node at addr with SIGKILL, as a crash would. Its replica,
// if it has one, is promoted after the cluster-node-timeout.
func (c *Cluster) Kill(addr string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cmd := c.procs[addr]; cmd != nil {
		cmd.Process.Kill()
		cmd.Wait()
		delete(c.procs, addr)
	}
}

// WaitState waits until the node at addr reports cluster_state:ok again,
// as after a failover, or the timeout passes.
func (c *Cluster) WaitState(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		info, err := command(addr, "CLUSTER INFO")
		if err == nil && field(info, "cluster_state") == "ok" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("testenv: cluster node %s not ok within %v (%v)", addr, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (c *Cluster) stopAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for addr, cmd := range c.procs {
		cmd.Process.Kill()
		cmd.Wait()
		delete(c.procs, addr)
	}
}

// command sends one inline command to the Redis at addr and returns its
// status or bulk-string reply.
func command(addr, cmd string) (string, error) {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(conn, cmd+"\r\n"); err != nil {
		return "", err
	}
	r := bufio.NewReader(conn)
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	switch {
	case strings.HasPrefix(line, "+"):
		return line[1:], nil
	case strings.HasPrefix(line, "$"):
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return "", fmt.Errorf("unexpected reply %q", line)
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	}
	return "", fmt.Errorf("reply %q", line)
}
