// One place that fixes the terminal and the environment for every test, so output is deterministic.
process.env.NO_COLOR = '1'
process.env.COLUMNS = '120'
process.env.CI = 'true'
process.env.NODE_ENV = 'test'
process.env.OCLIF_SKIP_NEW_VERSION_CHECK = 'true'
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true'
// Tests never read the developer's real AWS config or credentials.
process.env.AWS_CONFIG_FILE = '/dev/null'
process.env.AWS_SHARED_CREDENTIALS_FILE = '/dev/null'
delete process.env.AWS_PROFILE
delete process.env.AWS_ENDPOINT_URL_S3
delete process.env.AWS_ENDPOINT_URL
