// `npm start`: build the staff app and the server where missing or older than their sources,
// then run the built server (plain JavaScript, no TypeScript loader) in this same process.
import { pathToFileURL } from 'node:url';
import { buildServer, buildStaffApp } from './builds.mjs';

// The server first (seconds): its configuration check says what is wrong with the environment
// before the staff app's build, which takes far longer.
const server = buildServer();

// Stack traces point into server/ and shared/, not into the bundle.
process.setSourceMapsEnabled(true);
// main() runs the server; importing the module alone starts nothing.
const { main, configFromEnvironment } = await import(pathToFileURL(server).href);
const config = configFromEnvironment();
buildStaffApp();
await main(config);
