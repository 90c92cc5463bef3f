import Foundation
import TroupeApp

exit(await TroupeCommand.main(Array(CommandLine.arguments.dropFirst())))
