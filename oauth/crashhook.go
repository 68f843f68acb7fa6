package oauth

// afterRefreshCommit, when set, runs after a refresh's transaction
// committed and before its answer is written. Only a binary built with the
// sesame_crashtest tag sets it (crashhook_crashtest.go): the fault tests
// kill the process there to show that a client whose answer was lost can
// retry. Production builds leave it nil.
var afterRefreshCommit func()
