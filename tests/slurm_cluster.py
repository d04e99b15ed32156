"""A real single-node SLURM cluster for the tests, from Debian's packages, configured for localhost.

munged, MariaDB + slurmdbd (job accounting, so that `sacct` answers the executor plugin's status queries),
slurmctld and slurmd run as root in the foreground, each in its own session, on free TCP ports, with every state,
socket, log and pid file under one folder. The two config files go where Debian's Slurm looks by default,
/etc/slurm/slurm.conf and slurmdbd.conf: the executor plugin's job step clears SLURM_* (SLURM_CONF included) from
the job's environment before it calls `srun`, so a config anywhere else is not found inside a job. A slurm.conf
that this module did not write is never replaced. ``stop()`` cancels the jobs, ends every daemon that ``start()``
started, whatever state it got to, and removes the two config files.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

APT_PACKAGES = ["munge", "slurmctld", "slurmd", "slurm-client", "slurmdbd", "mariadb-server"]
CLUSTER = "clippings"
PARTITION = "tiny"
ACCOUNT = "clippings"
SLURM_CONF = Path("/etc/slurm/slurm.conf")  # Debian's default: where srun inside a job looks
CONFIG_MARK = "# written by clippings-workflow tests/slurm_cluster.py; removed when the test cluster stops"
STARTUP_TIMEOUT = 120  # seconds for each daemon to answer; generous for a busy 2-core machine


class ClusterError(RuntimeError):
    pass


def missing_packages() -> list[str]:
    def installed(package):
        status = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True)
        return status.stdout.endswith("install ok installed")

    return [p for p in APT_PACKAGES if not installed(p)]


def install_packages() -> str | None:
    """Installs the missing packages with apt-get (root only). Returns why that failed, or None when all are in."""
    missing = missing_packages()
    if not missing:
        return None
    if shutil.which("apt-get") is None:
        return f"no apt-get to install {missing}"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing]
    # Install first; refresh the package lists only if that fails (they are often fresh, and the update is slow).
    for commands in ([install], [["apt-get", "update", "-qq"], install]):
        try:
            results = [subprocess.run(c, capture_output=True, text=True, env=env, timeout=900) for c in commands]
        except subprocess.TimeoutExpired as exc:
            return f"`{' '.join(exc.cmd)}` did not finish in {exc.timeout:.0f} s"
        if all(r.returncode == 0 for r in results):
            break
    still_missing = missing_packages()
    if still_missing:
        return f"apt-get could not install {still_missing}: {results[-1].stderr.strip()[-600:]}"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tail(path: Path, lines: int = 15) -> str:
    if not path.exists():
        return f"({path.name} not written)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


class LocalSlurmCluster:
    def __init__(self, root: Path):
        self.root = root
        self.daemons: list[tuple[str, subprocess.Popen, list[Path]]] = []
        self.env = {**os.environ, "SLURM_CONF": str(SLURM_CONF)}
        self.wrote_config = False
        self.cpus = self.real_memory_mb = None

    # -- commands ---------------------------------------------------------------------------------------------
    def run(self, *command, timeout=30, check=True, **kwargs) -> subprocess.CompletedProcess:
        result = subprocess.run(command, capture_output=True, text=True, env=self.env, timeout=timeout, **kwargs)
        if check and result.returncode != 0:
            raise ClusterError(f"`{' '.join(command)}` failed ({result.returncode}): {result.stderr.strip()}")
        return result

    def answers(self, *command, **kwargs) -> subprocess.CompletedProcess | None:
        """The command's result if it succeeded, None if it failed or hung (a daemon still starting)."""
        try:
            result = self.run(*command, timeout=15, check=False, **kwargs)
        except subprocess.TimeoutExpired:
            return None
        return result if result.returncode == 0 else None

    def node_state(self) -> str:
        result = self.answers("sinfo", "--noheader", "--nodes=localhost", "--format=%T")
        return result.stdout.strip() if result else ""

    # -- daemons ----------------------------------------------------------------------------------------------
    def _spawn(self, name: str, command: list[str], logs: list[Path]):
        out = self.root / "log" / f"{name}.out"
        with open(out, "w") as stream:
            process = subprocess.Popen(
                command, stdout=stream, stderr=subprocess.STDOUT, env=self.env, start_new_session=True
            )
        self.daemons.append((name, process, [out, *logs]))

    def _wait(self, what: str, ready, timeout: float = STARTUP_TIMEOUT):
        deadline = time.monotonic() + timeout
        while not ready():
            for name, process, logs in self.daemons:
                if process.poll() is not None:
                    raise ClusterError(
                        f"{name} exited with status {process.returncode} while waiting for {what}:\n"
                        + "\n".join(tail(log) for log in logs)
                    )
            if time.monotonic() > deadline:
                name, _, logs = self.daemons[-1]
                raise ClusterError(
                    f"{what}: not ready after {timeout:.0f} s. Last lines of {name}'s logs:\n"
                    + "\n".join(tail(log) for log in logs)
                )
            time.sleep(0.5)

    def start(self):
        root = self.root
        for folder in ("log", "run", "state", "spool", "munge"):
            (root / folder).mkdir(parents=True, exist_ok=True)
        ports = {name: free_port() for name in ("mariadb", "slurmdbd", "slurmctld", "slurmd")}
        munge_socket = root / "munge" / "munge.socket"

        # Job accounting: slurmdbd over a private MariaDB on 127.0.0.1.
        self.run(
            "mariadb-install-db", "--no-defaults", f"--datadir={root / 'db'}", "--user=root",
            "--auth-root-authentication-method=normal", "--skip-test-db", timeout=180,
        )
        self._spawn(
            "mariadbd",
            ["mariadbd", "--no-defaults", f"--datadir={root / 'db'}", f"--socket={root / 'run' / 'mysqld.sock'}",
             f"--port={ports['mariadb']}", "--bind-address=127.0.0.1", "--skip-name-resolve", "--user=root",
             f"--pid-file={root / 'run' / 'mariadbd.pid'}", f"--log-error={root / 'log' / 'mariadbd.log'}",
             "--innodb-buffer-pool-size=64M"],
            [root / "log" / "mariadbd.log"],
        )
        self._wait(
            "MariaDB",
            lambda: self.answers(
                "mariadb-admin", "--no-defaults", "--protocol=tcp", "-h", "127.0.0.1", "-P", str(ports["mariadb"]),
                "-u", "root", "ping",
            ),
        )

        # munge: a fresh key and a private socket. --force: munged wants every folder above its socket readable by
        # all, which pytest's 0700 temporary folders are not (all our clients are root anyway).
        key = root / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o600)
        self._spawn(
            "munged",
            ["munged", "--foreground", "--force", f"--key-file={key}", f"--socket={munge_socket}",
             f"--pid-file={root / 'run' / 'munged.pid'}", f"--seed-file={root / 'munge' / 'munged.seed'}"],
            [],  # in the foreground munged logs to stderr: log/munged.out
        )

        def munge_works():
            credential = self.answers("munge", "--no-input", f"--socket={munge_socket}")
            return credential and self.answers("unmunge", f"--socket={munge_socket}", input=credential.stdout)

        self._wait("munged", munge_works)

        hardware = self.run("slurmd", "-C").stdout.splitlines()[0]  # this machine: CPUs, cores, RealMemory
        self.cpus = int(re.search(r"\bCPUs=(\d+)", hardware).group(1))
        self.real_memory_mb = int(re.search(r"\bRealMemory=(\d+)", hardware).group(1))
        node = re.sub(r"^NodeName=\S+", "NodeName=localhost NodeHostname=localhost NodeAddr=127.0.0.1", hardware)
        for conf in (SLURM_CONF, SLURM_CONF.parent / "slurmdbd.conf"):
            if conf.exists() and CONFIG_MARK not in conf.read_text(errors="replace"):
                raise ClusterError(f"{conf} exists and is not this test's: not replacing a real cluster's config")
        SLURM_CONF.parent.mkdir(parents=True, exist_ok=True)
        self.wrote_config = True
        SLURM_CONF.write_text(
            f"""{CONFIG_MARK}
ClusterName={CLUSTER}
SlurmctldHost=localhost
SlurmctldPort={ports['slurmctld']}
SlurmdPort={ports['slurmd']}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={munge_socket}
CredType=cred/munge
StateSaveLocation={root / 'state'}
SlurmdSpoolDir={root / 'spool'}
SlurmctldPidFile={root / 'run' / 'slurmctld.pid'}
SlurmdPidFile={root / 'run' / 'slurmd.pid'}
SlurmctldLogFile={root / 'log' / 'slurmctld.log'}
SlurmdLogFile={root / 'log' / 'slurmd.log'}
# no cgroups in a container: track job processes through /proc, bind no CPUs
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort={ports['slurmdbd']}
# the munge socket that clients (sacct, sacctmgr) use to reach slurmdbd
AccountingStoragePass={munge_socket}
# keep sbatch --comment (the plugin writes the rule and wildcards there) in the accounting records
AccountingStoreFlags=job_comment
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
{node} State=UNKNOWN
# the default partition: the unedited profile names none
PartitionName={PARTITION} Nodes=localhost Default=YES MaxTime=INFINITE State=UP
"""
        )
        dbd_conf = SLURM_CONF.parent / "slurmdbd.conf"  # slurmdbd reads it from slurm.conf's folder
        dbd_conf.write_text(
            f"""{CONFIG_MARK}
AuthType=auth/munge
AuthInfo=socket={munge_socket}
DbdHost=localhost
DbdPort={ports['slurmdbd']}
SlurmUser=root
PidFile={root / 'run' / 'slurmdbd.pid'}
LogFile={root / 'log' / 'slurmdbd.log'}
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort={ports['mariadb']}
StorageUser=root
StorageLoc=slurm_acct_db
"""
        )
        dbd_conf.chmod(0o600)  # slurmdbd refuses a config that others can read

        self._spawn("slurmdbd", ["slurmdbd", "-D"], [root / "log" / "slurmdbd.log"])
        self._wait("slurmdbd", lambda: self.answers("sacctmgr", "--noheader", "list", "cluster"))
        self._spawn("slurmctld", ["slurmctld", "-D"], [root / "log" / "slurmctld.log"])
        self._wait("slurmctld", lambda: self.answers("sinfo"))

        def cluster_registered():
            clusters = self.answers("sacctmgr", "--noheader", "--parsable2", "list", "cluster", "format=cluster")
            return clusters and CLUSTER in clusters.stdout.split()

        self._wait("slurmctld registering with slurmdbd", cluster_registered)
        # root's default account: sbatch uses it when a job names none, as the unedited profile's jobs do (a
        # cluster's users have one too).
        self.run("sacctmgr", "--immediate", "add", "account", ACCOUNT, "Description=tests", "Organization=tests")
        self.run("sacctmgr", "--immediate", "add", "user", "root", f"account={ACCOUNT}", f"DefaultAccount={ACCOUNT}")

        self._spawn("slurmd", ["slurmd", "-D", "-N", "localhost"], [root / "log" / "slurmd.log"])
        self._wait("slurmd (node localhost idle in sinfo)", lambda: self.node_state() == "idle")

    def stop(self):
        """Cancels every job and ends each daemon this object started (its whole session), latest first."""
        if any(name == "slurmctld" and process.poll() is None for name, process, _ in self.daemons):
            try:
                self.run("scancel", "--user=root", check=False)
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    queue = self.answers("squeue", "--noheader")
                    if queue is None or not queue.stdout.strip():
                        break
                    time.sleep(1)
            except subprocess.TimeoutExpired:
                pass
        for _name, process, _ in reversed(self.daemons):
            for sig, grace in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
                try:
                    os.killpg(process.pid, sig)  # the daemon's session: it and anything it forked
                except ProcessLookupError:
                    break
                try:
                    process.wait(timeout=grace)
                    break
                except subprocess.TimeoutExpired:
                    continue
        self.daemons.clear()
        shutil.rmtree(self.root / "db", ignore_errors=True)  # MariaDB's files: about 200 MB
        if self.wrote_config:
            for conf in (SLURM_CONF, SLURM_CONF.parent / "slurmdbd.conf"):
                conf.unlink(missing_ok=True)
            self.wrote_config = False
