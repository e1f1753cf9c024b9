export { FixtureConfigError, FixtureError, FixturePortInUseError, ProviderUnavailableError, TemplateBuildError } from './fixture-error.js';
