import { DefaultLogger, Runtime } from '@temporalio/worker';

// Worker state chatter drowns test output; keep warnings and errors. Must run before any connection.
Runtime.install({ logger: new DefaultLogger(process.env.TEST_LOG_LEVEL === 'debug' ? 'DEBUG' : 'WARN') });
