#include "client/run.h"

#include "client/exit_codes.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

void cf_run_describe(int wstatus, char *out, size_t out_len)
{
    if (WIFEXITED(wstatus))
        snprintf(out, out_len, "exited with status %d", WEXITSTATUS(wstatus));
    else if (WIFSIGNALED(wstatus))
        snprintf(out, out_len, "was killed by signal %d (%s)", WTERMSIG(wstatus),
                 strsignal(WTERMSIG(wstatus)));
    else
        snprintf(out, out_len, "ended with wait status %d", wstatus);
}

/* In the child, between fork and exec: only async-signal-safe calls. */
static void child_exec(const char *command, int stdin_fd, int stdout_fd)
{
    sigset_t none;

    signal(SIGPIPE, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    /* dup2 onto itself would keep O_CLOEXEC: clear it by hand then. */
    if (stdin_fd == STDIN_FILENO)
        fcntl(stdin_fd, F_SETFD, 0);
    else if (stdin_fd >= 0 && dup2(stdin_fd, STDIN_FILENO) < 0)
        _exit(127);
    if (stdout_fd == STDOUT_FILENO)
        fcntl(stdout_fd, F_SETFD, 0);
    else if (stdout_fd >= 0 && dup2(stdout_fd, STDOUT_FILENO) < 0)
        _exit(127);
    /* Every other descriptor was opened with O_CLOEXEC. */
    execl("/bin/sh", "sh", "-c", command, (char *)NULL);
    _exit(127);
}

cf_code cf_run_start(const char *command, enum cf_run_mode mode, const char *what, struct cf_child *out,
                     struct cf_error *err)
{
    int pipefd[2] = {-1, -1};
    int null_fd = -1;
    pid_t pid;

    out->pid = -1;
    out->fd = -1;
    snprintf(out->what, sizeof(out->what), "%s", what);
    if (pipe2(pipefd, O_CLOEXEC) != 0)
        return cf_fail(err, CF_E_IO, "cannot make a pipe for %s: %s", what, strerror(errno));
    if (mode == CF_RUN_READ) {
        null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null_fd < 0) {
            close(pipefd[0]);
            close(pipefd[1]);
            return cf_fail(err, CF_E_IO, "cannot open /dev/null: %s", strerror(errno));
        }
    }
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        int saved = errno;
        close(pipefd[0]);
        close(pipefd[1]);
        if (null_fd >= 0)
            close(null_fd);
        return cf_fail(err, CF_E_IO, "cannot start %s: %s", what, strerror(saved));
    }
    if (pid == 0) {
        if (mode == CF_RUN_READ)
            child_exec(command, null_fd, pipefd[1]);
        else
            child_exec(command, pipefd[0], -1);
    }
    if (null_fd >= 0)
        close(null_fd);
    if (mode == CF_RUN_READ) {
        close(pipefd[1]);
        out->fd = pipefd[0];
    } else {
        close(pipefd[0]);
        out->fd = pipefd[1];
    }
    out->pid = pid;
    return CF_OK;
}

static int reap(pid_t pid)
{
    int wstatus = 0;

    while (waitpid(pid, &wstatus, 0) < 0) {
        if (errno != EINTR)
            return -1;
    }
    return wstatus;
}

cf_code cf_run_finish(struct cf_child *child, struct cf_error *err)
{
    char how[96];
    int wstatus;

    if (child->fd >= 0) {
        close(child->fd);
        child->fd = -1;
    }
    if (child->pid < 0)
        return CF_OK;
    wstatus = reap(child->pid);
    child->pid = -1;
    if (wstatus < 0)
        return cf_fail(err, CF_E_COMMAND_FAILED, "%s was lost: %s", child->what, strerror(errno));
    if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0)
        return CF_OK;
    cf_run_describe(wstatus, how, sizeof(how));
    if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 127)
        return cf_fail(err, CF_E_COMMAND_FAILED, "%s %s (command not found?)", child->what, how);
    return cf_fail(err, CF_E_COMMAND_FAILED, "%s %s", child->what, how);
}

void cf_run_stop(struct cf_child *child)
{
    if (child->fd >= 0) {
        close(child->fd);
        child->fd = -1;
    }
    if (child->pid < 0)
        return;
    kill(child->pid, SIGTERM);
    reap(child->pid);
    child->pid = -1;
}
