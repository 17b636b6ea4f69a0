/** The product version, from package.json, so logs, health and MDE comments name the build that acted. */
import packageJson from '../../package.json';

export const PRODUCT_VERSION: string = packageJson.version;
