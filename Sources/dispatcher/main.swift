// `dispatcher`: one stage of the fleet as its own process (see `StageMain` and `FleetStage.dispatcher`).
import Foundation
import Stages

exit(await StageMain.run(.dispatcher))
